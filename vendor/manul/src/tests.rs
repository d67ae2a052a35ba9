mod partial_echo;
