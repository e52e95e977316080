"""srmer.bench"""
