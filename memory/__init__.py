"""memgram.memory"""
