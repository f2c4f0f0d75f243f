/* agentperf: the command line (harness/cmd/: one file per command, the tables in cmd.h). */
#include "cmd/cmd.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
