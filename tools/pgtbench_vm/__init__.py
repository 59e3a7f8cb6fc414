"""The building blocks of tools/vm (the arm64 guest runner) and tools/boot-map-mem (the
boot-time map_mem timer), one module per subject. They hold no global state, so that
tests/guest/test_vm_unit.py checks them on any host without qemu; qemu.py and
harness.py are the ones that run programs (qemu, the native pgtbench). Import the
submodules: this package re-exports nothing."""
