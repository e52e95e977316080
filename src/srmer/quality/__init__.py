"""srmer.quality"""
