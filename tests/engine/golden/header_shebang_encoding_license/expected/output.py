#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright 2024 Example Corp.
# SPDX-License-Identifier: Apache-2.0
"""Command-line entry point."""
from __future__ import annotations, division

import sys

import infrar_native.storage as storage

if __name__ == "__main__":
    storage.upload("backups", sys.argv[1], sys.argv[2])
