/* Vector table and reset handler for the Cortex-M4F firmware on qemu-system-arm mps2-an386:
   enables the FPU (CP10/CP11), then enters newlib's rdimon start-up (_start), which sets up
   the C library over semihosting, calls main and passes its status to the host via exit(). */
#include <stdint.h>

extern uint32_t __StackTop;
extern void _start(void);

static void fail_exit(void) { /* semihosting SYS_EXIT, ADP_Stopped_RunTimeErrorUnknown */
    register uint32_t r0 __asm__("r0") = 0x18, r1 __asm__("r1") = 0x20023;
    __asm__ volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

void Reset_Handler(void) {
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n isb" ::: "memory");
    _start();
    fail_exit();
}

void Fault_Handler(void) { fail_exit(); }

__attribute__((section(".isr_vector"), used)) const void *const vector_table[16] = {
    &__StackTop,          (void *)Reset_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
    (void *)Fault_Handler, (void *)Fault_Handler, (void *)Fault_Handler, 0, 0, 0, 0,
    (void *)Fault_Handler, (void *)Fault_Handler, 0, (void *)Fault_Handler, (void *)Fault_Handler,
};
