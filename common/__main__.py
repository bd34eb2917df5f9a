import sys

from tfedge.main import main

sys.exit(main())
