"""What Gongzhi's services share: event schemas, topic names, settings, and factories."""
