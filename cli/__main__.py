from kpl.cli import main

raise SystemExit(main())
