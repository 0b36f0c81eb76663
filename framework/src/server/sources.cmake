# SPDX-License-Identifier: Apache-2.0
# (placeholder until the config loader lands)
