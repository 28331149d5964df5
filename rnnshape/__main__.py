from rnnshape.cli import main

main()
