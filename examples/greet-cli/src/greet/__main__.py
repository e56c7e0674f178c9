from greet.cli import main

main()
