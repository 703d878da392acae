from services.scraper.app import main

main()
