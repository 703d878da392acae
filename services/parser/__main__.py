from services.parser.app import main

main()
