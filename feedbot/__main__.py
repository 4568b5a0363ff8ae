from feedbot.cli import main

main()
