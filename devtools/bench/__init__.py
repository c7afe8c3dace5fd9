"""``make bench``: Gongzhi's pipeline measured against a raw aiokafka baseline."""
