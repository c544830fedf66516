from otpgate.cli.main import main

main()
