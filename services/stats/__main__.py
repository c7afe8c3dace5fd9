"""``python -m services.stats`` runs the service; ``python -m services.stats watch`` the live table."""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "watch":
    from services.stats.watch import main as watch_main

    sys.exit(watch_main(sys.argv[2:]))
else:
    from services.stats.app import main

    main()
