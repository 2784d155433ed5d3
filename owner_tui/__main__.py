from owner_tui.cli.root import main

main()
