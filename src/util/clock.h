/* SPDX-License-Identifier: Apache-2.0 */
/* Wall-clock and monotonic time. */
#ifndef SB_CLOCK_H
#define SB_CLOCK_H

#include <stdint.h>

int64_t clock_epoch_ms(void); /* milliseconds since the Unix epoch */
int64_t clock_mono_us(void);  /* monotonic microseconds, for durations */

#endif
