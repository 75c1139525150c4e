from mlcc_ci.cli.main import main

main()
