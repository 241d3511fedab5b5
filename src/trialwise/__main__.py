from trialwise.cli.app import main

main()
