"""memgram.runtime"""
