/*
 * The guest's smoke-test init (scripts/guest/build.sh --smoke and
 * --selftests): checks that the guest kernel has what mmdiff's executor
 * needs, optionally runs the kernel's own mm selftests packed beside it,
 * and powers the machine off.
 *
 * It mounts proc, sysfs, devtmpfs (/dev), debugfs and a tmpfs on /tmp,
 * prints the kernel release, lists /dev/hmm_dmirror*, checks that
 * /sys/kernel/debug/gup_test exists, and prints on the console either
 *
 *     SMOKE OK devices=<n>
 *     SMOKE FAIL <why>
 *
 * The two device-private mirrors (hmm_dmirror0, 1) must be there; the
 * device-coherent pair (hmm_dmirror2, 3) must be there too when the
 * kernel command line sets test_hmm.spm_addr_dev0=.
 *
 * It also writes "mmdiff-smoke hello" to the host channel, the first of
 * /dev/vport0p1 and /dev/ttyS1 that exists (the executor's order), and
 * prints "channel: <path>".
 *
 * Then, if the initramfs has /selftests/run (a list of program names,
 * one a line, each with its arguments), each /selftests/<name> is run
 * in turn from /tmp, its output going to the console, followed by
 *
 *     SELFTEST <name>: exit <status>
 *
 * A line "write <path> <value>" there writes <value> to <path> instead
 * (e.g. /proc/sys/vm/nr_hugepages, for the hugetlbfs tests).
 * and a closing "SELFTESTS DONE" line.
 *
 * Build: gcc -static -O2 -o smoke-init smoke-init.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char failure[512];

static void fail(const char *fmt, ...)
{
	va_list ap;
	size_t len = strlen(failure);

	if (len && len < sizeof(failure) - 2) {
		strcat(failure, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(failure + len, sizeof(failure) - len, fmt, ap);
	va_end(ap);
}

static void mount_one(const char *source, const char *target,
		      const char *fstype)
{
	mkdir(target, 0755);
	if (mount(source, target, fstype, 0, NULL) && errno != EBUSY)
		fail("mount %s on %s: %s", fstype, target, strerror(errno));
}

static void power_off(void)
{
	fflush(stdout);
	fflush(stderr);
	sync();
	reboot(RB_POWER_OFF);
	/* Without a way to power off, halting leaves qemu running: reset. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The mirror devices present, as a bit set (bit i: /dev/hmm_dmirror<i>). */
static unsigned list_mirrors(void)
{
	unsigned found = 0;
	DIR *dir = opendir("/dev");
	struct dirent *e;

	if (!dir) {
		fail("opendir /dev: %s", strerror(errno));
		return 0;
	}
	while ((e = readdir(dir))) {
		unsigned id;

		if (sscanf(e->d_name, "hmm_dmirror%u", &id) == 1) {
			printf("device: /dev/%s\n", e->d_name);
			if (id < 32)
				found |= 1u << id;
		}
	}
	closedir(dir);
	return found;
}

static void greet_channel(void)
{
	static const char *const channels[] = { "/dev/vport0p1", "/dev/ttyS1" };
	static const char hello[] = "mmdiff-smoke hello\n";

	for (unsigned i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
		int fd = open(channels[i], O_RDWR | O_NOCTTY | O_NONBLOCK);

		if (fd < 0)
			continue;
		if (write(fd, hello, sizeof(hello) - 1) < 0)
			printf("channel: %s: %s\n", channels[i], strerror(errno));
		else
			printf("channel: %s\n", channels[i]);
		tcdrain(fd);
		close(fd);
		return;
	}
	printf("channel: none\n");
}

static void run_selftests(void)
{
	char line[1024];
	FILE *list = fopen("/selftests/run", "r");

	if (!list)
		return;
	if (chdir("/tmp"))
		printf("chdir /tmp: %s\n", strerror(errno));
	while (fgets(line, sizeof(line), list)) {
		char *argv[32];
		int argc = 0, status;
		char path[1100];
		char *save, *word;
		pid_t pid;

		for (word = strtok_r(line, " \t\n", &save); word && argc < 31;
		     word = strtok_r(NULL, " \t\n", &save))
			argv[argc++] = word;
		argv[argc] = NULL;
		if (!argc || argv[0][0] == '#')
			continue;
		if (!strcmp(argv[0], "write") && argc == 3) {
			int fd = open(argv[1], O_WRONLY);

			if (fd < 0 || write(fd, argv[2], strlen(argv[2])) < 0)
				printf("write %s to %s: %s\n", argv[2], argv[1],
				       strerror(errno));
			else
				printf("wrote %s to %s\n", argv[2], argv[1]);
			if (fd >= 0)
				close(fd);
			continue;
		}
		snprintf(path, sizeof(path), "/selftests/%s", argv[0]);
		printf("SELFTEST %s: start\n", argv[0]);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			execv(path, argv);
			printf("exec %s: %s\n", path, strerror(errno));
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			printf("SELFTEST %s: could not run: %s\n", argv[0],
			       strerror(errno));
			continue;
		}
		if (WIFEXITED(status))
			printf("SELFTEST %s: exit %d\n", argv[0],
			       WEXITSTATUS(status));
		else
			printf("SELFTEST %s: killed by signal %d\n", argv[0],
			       WTERMSIG(status));
		fflush(stdout);
	}
	fclose(list);
	printf("SELFTESTS DONE\n");
}

int main(void)
{
	struct utsname uts;
	struct stat st;
	char cmdline[4096] = "";
	unsigned mirrors, want = 0x3;
	int n = 0;

	/* The kernel gives init /dev/console from the initramfs. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	mount_one("proc", "/proc", "proc");
	mount_one("sysfs", "/sys", "sysfs");
	mount_one("devtmpfs", "/dev", "devtmpfs");
	mount_one("debugfs", "/sys/kernel/debug", "debugfs");
	mount_one("tmpfs", "/tmp", "tmpfs");
	mount_one("tmpfs", "/dev/shm", "tmpfs");

	if (uname(&uts) == 0)
		printf("uname -r: %s\n", uts.release);
	else
		fail("uname: %s", strerror(errno));
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) == 0)
		printf("cmdline: %s", cmdline);

	mirrors = list_mirrors();
	if (strstr(cmdline, "test_hmm.spm_addr_dev0="))
		want |= 0xc;
	for (unsigned id = 0; id < 4; id++) {
		if (mirrors & (1u << id))
			n++;
		else if (want & (1u << id))
			fail("no /dev/hmm_dmirror%u", id);
	}
	if (stat("/sys/kernel/debug/gup_test", &st))
		fail("no /sys/kernel/debug/gup_test: %s", strerror(errno));
	if (stat("/proc/self/pagemap", &st))
		fail("no /proc/self/pagemap: %s", strerror(errno));

	greet_channel();
	if (failure[0])
		printf("SMOKE FAIL %s\n", failure);
	else
		printf("SMOKE OK devices=%d\n", n);

	run_selftests();
	power_off();
	return 0;
}
