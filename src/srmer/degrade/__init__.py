"""srmer.degrade"""
