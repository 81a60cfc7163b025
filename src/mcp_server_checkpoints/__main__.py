from mcp_server_checkpoints.cli import main

raise SystemExit(main())
