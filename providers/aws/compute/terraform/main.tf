# The services of the project on AWS: one IAM role per service (the capability modules attach
# to it exactly what that service's code does), one private ECR repository per service, and
# the compute that runs each image: App Runner for http services, an ECS Fargate service for
# workers, and for schedules an ECS Fargate task that EventBridge Scheduler runs on the cron.
# A service whose image is not set yet gets its role and repository only.

variable "services" {
  description = "Service name -> how it runs; image is a digest reference, empty before the first push."
  type = map(object({
    kind     = string
    image    = string
    port     = number
    health   = string
    public   = bool
    schedule = string
  }))
}

variable "environment_variables" {
  description = "Environment variables every service gets (besides INFRAR_ENVIRONMENT)."
  type        = map(string)
  default     = {}
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "subnet_ids" {
  description = "Subnets of the workers and schedules; empty: the default VPC's subnets, with a public address for egress."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Days the services' logs are kept."
  type        = number
  default     = 365
}

variable "cpu" {
  description = "vCPU of each container (App Runner and Fargate units: 256 = 0.25 vCPU)."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Memory of each container in MiB."
  type        = number
  default     = 512
}

locals {
  prefix   = substr(join("-", compact(["infrar", var.project, var.environment])), 0, 24)
  names    = { for name, service in var.services : name => substr("${local.prefix}-${name}", 0, 40) }
  deployed = { for name, service in var.services : name => service if service.image != "" }
  http     = { for name, service in local.deployed : name => service if service.kind == "http" }
  workers  = { for name, service in local.deployed : name => service if service.kind == "worker" }
  jobs     = { for name, service in local.deployed : name => service if service.kind == "schedule" }
  tasks    = merge(local.workers, local.jobs)
  # What only tasks need (a network, a cluster, an execution role) exists only when some
  # service is a worker or a schedule, so an http-only project needs no VPC at all.
  has_tasks = length([for service in var.services : service if service.kind != "http"]) > 0
  has_http  = length([for service in var.services : service if service.kind == "http"]) > 0
  environment = [
    for name, value in merge(var.environment_variables, { INFRAR_ENVIRONMENT = var.environment }) : {
      name  = name
      value = value
    }
  ]
  lookup_default   = local.has_tasks && length(var.subnet_ids) == 0
  subnets          = local.lookup_default ? data.aws_subnets.default[0].ids : var.subnet_ids
  assign_public_ip = length(var.subnet_ids) == 0
  account          = data.aws_caller_identity.current.account_id
  partition        = data.aws_partition.current.partition
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_vpc" "default" {
  count = local.lookup_default ? 1 : 0

  default = true
}

data "aws_subnets" "default" {
  count = local.lookup_default ? 1 : 0

  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default[0].id]
  }
}

data "aws_subnet" "first" {
  count = local.has_tasks && length(var.subnet_ids) > 0 ? 1 : 0

  id = var.subnet_ids[0]
}

# --- identities ----------------------------------------------------------------------------

data "aws_iam_policy_document" "trust" {
  for_each = var.services

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = each.value.kind == "http" ? ["tasks.apprunner.amazonaws.com"] : ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "service" {
  for_each = var.services

  name_prefix        = substr("${local.names[each.key]}-", 0, 38)
  description        = "The ${each.key} service of ${var.project} ${var.environment}: what its code does, nothing more."
  assume_role_policy = data.aws_iam_policy_document.trust[each.key].json
  tags               = merge(var.tags, { service = each.key })
}

# --- encryption, images, logs --------------------------------------------------------------

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.project} ${var.environment} images, logs and services."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags
  # In a key policy the resource "*" is the key itself, never anything else.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheServicesLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${var.region}:${local.account}:log-group:/infrar/${local.prefix}/*"
          }
        }
      },
    ]
  })
}

resource "aws_ecr_repository" "service" {
  for_each = var.services

  name                 = local.names[each.key]
  image_tag_mutability = "IMMUTABLE"
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this.arn
  }
}

resource "aws_ecr_lifecycle_policy" "service" {
  for_each = var.services

  repository = aws_ecr_repository.service[each.key].name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 30 newest images."
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_cloudwatch_log_group" "service" {
  for_each = local.tasks

  name              = "/infrar/${local.prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

# --- http: App Runner ----------------------------------------------------------------------

data "aws_iam_policy_document" "apprunner_pull_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["build.apprunner.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "pull" {
  statement {
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [for repository in aws_ecr_repository.service : repository.arn]
  }

  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role" "pull" {
  count = local.has_http ? 1 : 0

  name_prefix        = substr("${local.prefix}-pull-", 0, 38)
  description        = "Pulls the ${var.project} ${var.environment} images and writes their logs."
  assume_role_policy = data.aws_iam_policy_document.apprunner_pull_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "pull" {
  count = local.has_http ? 1 : 0

  name   = "pull-images"
  role   = aws_iam_role.pull[0].id
  policy = data.aws_iam_policy_document.pull.json
}

resource "aws_apprunner_service" "http" {
  for_each = local.http

  service_name = local.names[each.key]
  tags         = merge(var.tags, { service = each.key })

  source_configuration {
    auto_deployments_enabled = false
    authentication_configuration {
      access_role_arn = aws_iam_role.pull[0].arn
    }
    image_repository {
      image_identifier      = each.value.image
      image_repository_type = "ECR"
      image_configuration {
        port                          = tostring(each.value.port)
        runtime_environment_variables = { for pair in local.environment : pair.name => pair.value }
      }
    }
  }

  instance_configuration {
    cpu               = tostring(var.cpu)
    memory            = tostring(var.memory)
    instance_role_arn = aws_iam_role.service[each.key].arn
  }

  health_check_configuration {
    protocol = "HTTP"
    path     = each.value.health
  }

  network_configuration {
    ingress_configuration {
      is_publicly_accessible = each.value.public
    }
  }

  encryption_configuration {
    kms_key = aws_kms_key.this.arn
  }

  depends_on = [aws_iam_role_policy.pull]
}

# --- workers and schedules: ECS Fargate ----------------------------------------------------

resource "aws_ecs_cluster" "this" {
  count = local.has_tasks ? 1 : 0

  name = local.prefix
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

data "aws_iam_policy_document" "execution_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  count = local.has_tasks ? 1 : 0

  name_prefix        = substr("${local.prefix}-exec-", 0, 38)
  description        = "Starts the ${var.project} ${var.environment} tasks: pulls their images, writes their logs."
  assume_role_policy = data.aws_iam_policy_document.execution_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  source_policy_documents = [data.aws_iam_policy_document.pull.json]

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account}:log-group:/infrar/${local.prefix}/*:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  count = local.has_tasks ? 1 : 0

  name   = "start-tasks"
  role   = aws_iam_role.execution[0].id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_ecs_task_definition" "task" {
  for_each = local.tasks

  family                   = local.names[each.key]
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution[0].arn
  task_role_arn            = aws_iam_role.service[each.key].arn
  tags                     = merge(var.tags, { service = each.key })
  # The root filesystem is read-only; /tmp is a scratch volume of the task's own.
  container_definitions = jsonencode([{
    name                   = each.key
    image                  = each.value.image
    essential              = true
    readonlyRootFilesystem = true
    environment            = local.environment
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service[each.key].name
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  }])

  volume {
    name = "tmp"
  }
}

resource "aws_security_group" "tasks" {
  count = local.has_tasks ? 1 : 0

  name_prefix = "${local.prefix}-tasks-"
  description = "The ${var.project} ${var.environment} tasks: nothing comes in, HTTPS goes out."
  vpc_id      = local.lookup_default ? data.aws_vpc.default[0].id : data.aws_subnet.first[0].vpc_id
  tags        = var.tags

  egress {
    description = "HTTPS to AWS APIs and the registry"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_service" "worker" {
  for_each = local.workers

  name            = local.names[each.key]
  cluster         = aws_ecs_cluster.this[0].id
  task_definition = aws_ecs_task_definition.task[each.key].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  tags            = merge(var.tags, { service = each.key })

  network_configuration {
    subnets          = local.subnets
    security_groups  = [aws_security_group.tasks[0].id]
    assign_public_ip = local.assign_public_ip
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = length(local.jobs) > 0 ? 1 : 0

  name_prefix        = substr("${local.prefix}-sched-", 0, 38)
  description        = "Runs the ${var.project} ${var.environment} scheduled tasks on their cron."
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  count = length(local.jobs) > 0 ? 1 : 0

  statement {
    actions   = ["ecs:RunTask"]
    resources = [for name, job in local.jobs : "${aws_ecs_task_definition.task[name].arn_without_revision}:*"]
  }

  statement {
    actions   = ["iam:PassRole"]
    resources = concat([aws_iam_role.execution[0].arn], [for name, job in local.jobs : aws_iam_role.service[name].arn])
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = length(local.jobs) > 0 ? 1 : 0

  name   = "run-scheduled-tasks"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}

resource "aws_scheduler_schedule" "job" {
  for_each = local.jobs

  name                         = local.names[each.key]
  description                  = "Runs the ${each.key} service of ${var.project} ${var.environment}."
  schedule_expression          = "cron(${each.value.schedule})"
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = aws_kms_key.this.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_ecs_cluster.this[0].arn
    role_arn = aws_iam_role.scheduler[0].arn

    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.task[each.key].arn
      launch_type         = "FARGATE"
      task_count          = 1

      network_configuration {
        subnets          = local.subnets
        security_groups  = [aws_security_group.tasks[0].id]
        assign_public_ip = local.assign_public_ip
      }
    }

    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}

output "role_names" {
  description = "The IAM role of each service."
  value       = { for name, role in aws_iam_role.service : name => role.name }
}

output "role_arns" {
  description = "The IAM role ARN of each service."
  value       = { for name, role in aws_iam_role.service : name => role.arn }
}

output "image_repositories" {
  description = "Where each service's image is pushed (append @sha256:<digest> for <service>_image)."
  value       = { for name, repository in aws_ecr_repository.service : name => repository.repository_url }
}

output "urls" {
  description = "The HTTPS address of each deployed public http service."
  value       = { for name, service in aws_apprunner_service.http : name => "https://${service.service_url}" if local.http[name].public }
}

output "private_urls" {
  description = "The address of each deployed private http service, reached through a VPC ingress connection."
  value       = { for name, service in aws_apprunner_service.http : name => "https://${service.service_url}" if !local.http[name].public }
}
