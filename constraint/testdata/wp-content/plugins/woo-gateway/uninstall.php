<?php
// No header: not the main file.
