mod threshold;
