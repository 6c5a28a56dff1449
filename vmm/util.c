/* Small helpers shared by every module. */
#include "vmm/util.h"

/* Returns 0 or a negative errno, as pthread_create's positive one. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	int ret;

	ret = pthread_attr_init(&a);
	if (ret)
		return -ret;
	ret = pthread_attr_setstacksize(&a, THREAD_STACK);
	if (!ret)
		ret = pthread_create(t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return -ret;
}
