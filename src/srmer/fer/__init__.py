"""srmer.fer"""
