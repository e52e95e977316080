"""srmer.features"""
