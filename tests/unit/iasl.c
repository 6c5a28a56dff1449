/*
 * iasl helpers shared by the ACPI tests: every table must disassemble
 * cleanly, and a recompile of the disassembly must give our AML back.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acpi/tables.h"
#include "tests/unit/iasl.h"

#define ACPI_HEADER_LEN	36

static char tmpdir[256];

static uint32_t iasl_rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void iasl_setup(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(tmpdir, sizeof(tmpdir), "%s/evmm-acpi-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

void iasl_teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(tmpdir);
}

void iasl_write(const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

char *iasl_read(const char *name, size_t *len)
{
	char path[512];
	char *data;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	data = calloc(1, n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(fread(data, 1, n, f), n);
	fclose(f);
	if (len)
		*len = n;
	return data;
}

void iasl_write_table(const char *base, const uint8_t *t)
{
	char file[64];

	snprintf(file, sizeof(file), "%s.dat", base);
	iasl_write(file, t, iasl_rd32(t + 4));
}

int iasl_run(const char *opt, const char *file, const char *log)
{
	int status, fd;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (chdir(tmpdir) < 0 || fd < 0)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(STDIN_FILENO);
		execlp("iasl", "iasl", opt, file, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!WIFEXITED(status) || WEXITSTATUS(status) != 127,
		      "iasl not found: install acpica-tools (apt-get install acpica-tools)");
	return status;
}

const char *iasl_disassemble(const char *base)
{
	static char why[4096];
	char file[64], log[512], dsl[512], *out;
	int status;

	snprintf(file, sizeof(file), "%s.dat", base);
	snprintf(log, sizeof(log), "%s/%s.log", tmpdir, base);
	status = iasl_run("-d", file, log);
	snprintf(file, sizeof(file), "%s.log", base);
	out = iasl_read(file, NULL);
	ck_assert_ptr_nonnull(out);
	snprintf(dsl, sizeof(dsl), "%s/%s.dsl", tmpdir, base);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		snprintf(why, sizeof(why), "iasl -d %s: status 0x%x:\n%s", base, status, out);
	else if (strcasestr(out, "error") || strcasestr(out, "warning"))
		snprintf(why, sizeof(why), "iasl -d %s complains:\n%s", base, out);
	else if (access(dsl, F_OK))
		snprintf(why, sizeof(why), "iasl -d %s wrote no %s", base, dsl);
	else
		why[0] = 0;
	free(out);
	return why[0] ? why : NULL;
}

/*
 * -on keeps name paths as written. The compare matters: iasl -d alone
 * accepts a PkgLength that runs short.
 */
bool iasl_recompiles_to(const char *base, const uint8_t *t)
{
	char file[64], log[512], *aml;
	size_t len;
	bool same;
	int status;

	if (iasl_disassemble(base))
		return false;
	snprintf(file, sizeof(file), "%s.dsl", base);
	snprintf(log, sizeof(log), "%s/%s-asl.log", tmpdir, base);
	status = iasl_run("-on", file, log);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return false;
	snprintf(file, sizeof(file), "%s.aml", base);
	aml = iasl_read(file, &len);
	ck_assert_ptr_nonnull(aml);
	same = len == iasl_rd32(t + 4) &&
	       !memcmp(aml + ACPI_HEADER_LEN, t + ACPI_HEADER_LEN,
		       len - ACPI_HEADER_LEN);
	free(aml);
	return same;
}

uint8_t *iasl_make_dsdt(const uint8_t *aml, size_t len)
{
	size_t total = ACPI_HEADER_LEN + len;
	uint8_t *t = calloc(1, total);
	size_t i;

	ck_assert_ptr_nonnull(t);
	memcpy(t, "DSDT", 4);
	for (i = 0; i < 4; i++)
		t[4 + i] = total >> (8 * i);
	t[8] = 2;
	memcpy(t + 10, "EVMM  EVMMDSDT", 14);
	t[24] = 1;
	memcpy(t + 28, "EVMM", 4);
	t[32] = 1;
	memcpy(t + ACPI_HEADER_LEN, aml, len);
	t[9] = -acpi_checksum(t, total);
	return t;
}

char *iasl_round_trip(const char *base, const uint8_t *t)
{
	char file[64];
	const char *why;

	iasl_write_table(base, t);
	why = iasl_disassemble(base);
	ck_assert_msg(!why, "%s", why);
	ck_assert_msg(iasl_recompiles_to(base, t),
		      "iasl recompiles %s to different AML", base);
	snprintf(file, sizeof(file), "%s.dsl", base);
	return iasl_read(file, NULL);
}

unsigned int iasl_count(const char *s, const char *what)
{
	unsigned int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s++;
	}
	return n;
}
