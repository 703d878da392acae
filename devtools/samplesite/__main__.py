from devtools.samplesite.server import main

main()
