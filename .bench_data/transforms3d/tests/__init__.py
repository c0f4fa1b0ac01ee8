# Init to make tests directory into package
