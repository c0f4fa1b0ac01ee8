# init for derivations

