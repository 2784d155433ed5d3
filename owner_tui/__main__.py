from owner_tui.cli.fast import main

main()
