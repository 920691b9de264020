"""Policy rules as small pure functions; the packs in policypacks/ only assemble them."""
