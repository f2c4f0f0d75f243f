/* `agentperf table RUN...`: many runs in one table (Markdown, LaTeX, CSV, text). */
#ifndef AP_TABLE_H
#define AP_TABLE_H

/* argv[0] is "table"; returns the exit status (2: usage). */
int table_main(int argc, char **argv);

#endif
