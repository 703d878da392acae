from services.enrichment.app import main

main()
