from amity.node.cli import main

raise SystemExit(main())
