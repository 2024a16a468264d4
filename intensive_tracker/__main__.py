from intensive_tracker.cli import main

main()
