from services.indexer.app import main

main()
