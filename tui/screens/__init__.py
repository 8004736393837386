"""One screen per job; each calls the service only from workers."""
