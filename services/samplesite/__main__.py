from services.samplesite.server import main

main()
