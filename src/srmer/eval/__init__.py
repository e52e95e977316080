"""srmer.eval"""
