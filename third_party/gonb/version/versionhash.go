package version

var GitCommitHash = "65b54eb1867d5d6d9c2bb42beb3e9b7446c7eb6b"
