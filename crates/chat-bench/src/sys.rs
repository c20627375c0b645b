//! What the bench reads from the operating system: CPU pinning, CPU time,
//! /proc figures of a process, the machine's description, free ports.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// Pins the calling thread (the whole one-thread generator) to `cpu`.
pub fn pin_self(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; an all-zero value is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET only writes inside `set`; it checks `cpu` against its size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid, initialised cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// CPU time (user + system) this process has used, in nanoseconds.
pub fn cpu_time_ns() -> u64 {
    // SAFETY: rusage is plain data; getrusage fills it and only reads RUSAGE_SELF.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The soft limit on open files of this process.
pub fn fd_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(1024)
}

/// A `KEY: N kB` field of /proc/PID/status (e.g. `VmRSS`), in KiB.
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    field(&text, key)
}

/// A field of /proc/meminfo (e.g. `Slab`), in KiB.
pub fn meminfo_kib(key: &str) -> Option<u64> {
    field(&std::fs::read_to_string("/proc/meminfo").ok()?, key)
}

fn field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Read and write syscalls a process has made (`syscr`, `syscw` of /proc/PID/io).
pub fn syscalls(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some((get("syscr:")?, get("syscw:")?))
}

/// CPU time (user + system, every thread) a process has used, in
/// nanoseconds (`utime` + `stime` of /proc/PID/stat, clock-tick resolution).
pub fn process_cpu_ns(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks_of_stat(&text).map(|t| t * 1_000_000_000 / clock_ticks())
}

/// `utime` + `stime` (fields 14 and 15) of a /proc/PID/stat line; the
/// command name in parentheses may hold spaces.
fn ticks_of_stat(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// The machine, as BENCHMARKS.md states it.
#[derive(Debug, Clone)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub kernel: String,
    pub mem_gib: f64,
}

/// Reads nproc, the CPU model, the kernel release and the memory size.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    Machine {
        // Every CPU of the machine, not this process's affinity (the bench
        // pins itself to one).
        nproc: cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(1),
        cpu,
        kernel,
        mem_gib: meminfo_kib("MemTotal").unwrap_or(0) as f64 / 1024.0 / 1024.0,
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    Ok(l.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields() {
        let text = "Name:\tx\nVmRSS:\t  1234 kB\nVmHWM:\t2 kB\n";
        assert_eq!(field(text, "VmRSS"), Some(1234));
        assert_eq!(field(text, "VmSwap"), None);
        assert!(status_kib(std::process::id(), "VmRSS").is_some());
        assert!(syscalls(std::process::id()).is_some());
        assert!(process_cpu_ns(std::process::id()).is_some());
        let stat = "42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 1 0";
        assert_eq!(ticks_of_stat(stat), Some(280));
    }
}
