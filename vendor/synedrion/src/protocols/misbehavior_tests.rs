mod aux_gen;
mod interactive_signing;
mod key_init;
mod key_refresh;
