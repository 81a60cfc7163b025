"""Tool functions: validate, call one function below, return a model. No MCP imports."""
