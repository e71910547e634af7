//! A minimal Cortex-M4F runtime for qemu-system-arm (mps2-an386): vector table, reset handler
//! (FPU on, .data copied, .bss zeroed), ARM semihosting output and exit status, and stack
//! painting to measure how deep a call goes. No dependencies, no heap.

use core::arch::{asm, global_asm};
use core::fmt;
use core::ptr::{read_volatile, write_volatile};

// Vector table: initial stack pointer, reset, and every fault to `fw_fault`. The reset handler
// enables CP10/CP11 (the FPU) before any Rust code runs, so no FP instruction can precede it.
global_asm!(
    r#"
    .section .vector_table, "a"
    .global __vector_table
    .p2align 2
__vector_table:
    .word __stack_top
    .word Reset
    .rept 14
    .word Fault
    .endr

    .section .text.Reset, "ax"
    .global Reset
    .type Reset, %function
    .thumb_func
Reset:
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    orr r1, r1, #(0xF << 20)
    str r1, [r0]
    dsb
    isb
    ldr r0, =__sdata
    ldr r1, =__edata
    ldr r2, =__sidata
1:  cmp r0, r1
    bhs 2f
    ldr r3, [r2], #4
    str r3, [r0], #4
    b 1b
2:  ldr r0, =__sbss
    ldr r1, =__ebss
    movs r2, #0
3:  cmp r0, r1
    bhs 4f
    str r2, [r0], #4
    b 3b
4:  bl fw_main
    b .
    .pool

    .section .text.Fault, "ax"
    .global Fault
    .type Fault, %function
    .thumb_func
Fault:
    bl fw_fault
    b .
"#
);

#[no_mangle]
extern "C" fn fw_fault() -> ! {
    print("FAULT: processor exception\n");
    exit(98)
}

/// One semihosting call (`bkpt 0xab`).
///
/// # Safety
/// `arg` must be what the operation `op` expects.
#[inline(always)]
unsafe fn semihost(op: u32, arg: usize) -> u32 {
    let r: u32;
    // SAFETY: `bkpt 0xab` is the ARM semihosting trap; QEMU handles it with
    // `-semihosting-config enable=on`. The caller passes a valid argument block for `op`.
    unsafe {
        asm!("bkpt #0xab", inout("r0") op => r, in("r1") arg, options(nostack));
    }
    r
}

/// Writes a string to the host's stdout (SYS_WRITE0, in NUL-terminated chunks).
pub fn print(s: &str) {
    let mut buf = [0u8; 129];
    for chunk in s.as_bytes().chunks(128) {
        let n = chunk.len();
        for (d, &c) in buf.iter_mut().zip(chunk) {
            *d = c;
        }
        if let Some(z) = buf.get_mut(n) {
            *z = 0;
        }
        // SAFETY: SYS_WRITE0 (0x04) takes a pointer to a NUL-terminated string; `buf` holds
        // at most 128 bytes followed by a 0 and lives across the call.
        unsafe {
            semihost(0x04, buf.as_ptr() as usize);
        }
    }
}

/// `core::fmt` sink for [`print`].
pub struct Host;

impl fmt::Write for Host {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        print(s);
        Ok(())
    }
}

/// `println!` over semihosting.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::rt::Host, $($arg)*);
    }};
}

/// Ends the QEMU run with exit status `code` (SYS_EXIT_EXTENDED, ADP_Stopped_ApplicationExit).
pub fn exit(code: u32) -> ! {
    let block = [0x20026u32, code];
    loop {
        // SAFETY: SYS_EXIT_EXTENDED (0x20) takes a pointer to {reason, subcode}; QEMU exits
        // with `subcode` as the process status for reason ApplicationExit.
        unsafe {
            semihost(0x20, block.as_ptr() as usize);
        }
    }
}

/// Bytes below the caller's stack pointer that [`stack_use`] paints and inspects.
pub const PAINT_BYTES: usize = 16 * 1024;
const PATTERN: u32 = 0x5AA5_C33C;

#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer register; no memory access.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Calls `f` and returns its result with the number of bytes of stack it used below this
/// function's frame (stack painting: fill [sp − PAINT_BYTES, sp) with a pattern, call, find the
/// lowest word that changed). Call the measured function through an opaque function pointer so
/// that it cannot be inlined into this frame. Returns `PAINT_BYTES` if the paint was exhausted.
#[inline(never)]
pub fn stack_use<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let top = stack_pointer() & !3;
    let bottom = top - PAINT_BYTES;
    let mut a = bottom;
    while a < top {
        // SAFETY: [bottom, top) is free RAM below the current stack pointer (the stack is 4 MiB
        // deep here, interrupts are off, nothing else runs); it is only ever used as stack.
        unsafe { write_volatile(a as *mut u32, PATTERN) };
        a += 4;
    }
    let r = f();
    let mut a = bottom;
    // SAFETY: as above, reading the painted region.
    while a < top && unsafe { read_volatile(a as *const u32) } == PATTERN {
        a += 4;
    }
    (r, top - a)
}
